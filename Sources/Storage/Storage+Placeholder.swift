// Storage module
