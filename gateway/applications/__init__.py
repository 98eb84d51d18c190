"""Access by application (共享申请): apply, review, revoke, renew; roles; the console's API."""
