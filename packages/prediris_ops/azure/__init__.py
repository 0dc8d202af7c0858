"""Azure for prediris, through the Azure SDK (no `az` CLI): the credential and clients, ACR login and
push, the Container App resource, deploy with health checks and rollback, provisioning, and the one-line
translation of Azure's errors. The tasks in prediris_ops.tasks.deploy are thin layers over it."""
