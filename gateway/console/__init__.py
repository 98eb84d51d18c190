"""The console at /console: pages for the people who run access (applicants, reviewers,
auditors, administrators) and for residents, and the GraphQL API they share."""
