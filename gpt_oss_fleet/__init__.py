"""gpt-oss-fleet's operator command (gpt_oss_fleet.cli): the playbooks run through ansible-runner, with a record of
every run."""
