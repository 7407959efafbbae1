"""Stand-in for the `ansible` package on a machine without Ansible (device check only)."""
