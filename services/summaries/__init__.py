"""Weekly conference-call summaries: per Area, unit and legal manager's team, how each rule's
obligations due in an ISO week were kept, with trends, lapses, workload and custody limits."""
