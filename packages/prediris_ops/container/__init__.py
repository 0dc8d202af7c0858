"""The container image: the docker client, a local engine and base image, the build plan, the lock, the secret scan."""
