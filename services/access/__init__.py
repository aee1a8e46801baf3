"""Who someone is and what is theirs: sign-in, sessions, tokens and scope (docs/contract.md
section 12)."""
