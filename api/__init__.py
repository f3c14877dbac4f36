"""The Skintrack API (issue 17): a token-secured REST API and FHIR R4 over the same `db/` reads and write paths,
`analysis/` and `exchange/` as the app. `python cli.py serve-api --port 8502` runs it (README, "The API")."""
