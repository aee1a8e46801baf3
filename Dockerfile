FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY events events
COPY schemas schemas
COPY services services
RUN pip install --no-cache-dir .
ENV FOLLOWUP_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8040
ENTRYPOINT ["followup"]
CMD ["serve"]
