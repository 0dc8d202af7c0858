"""What the invoke tasks drive, one folder per concern (core, container, azure, kubernetes, load, observe,
checks, docs…); tasks/ is the invoke layer over them, which alone turns the project's errors (core.errors)
into Exit. Nothing in the service imports this."""
