"""The access rules the NACM tests share: ``admin`` in the group admins, permitted
everything; ``olga`` in the group viewers, permitted get and get-config and nothing else."""

ADMINS_AND_VIEWERS = """
[[nacm.groups]]
name = "admins"
users = ["admin"]

[[nacm.groups]]
name = "viewers"
users = ["olga"]

[[nacm.rule_lists]]
name = "admins"
groups = ["admins"]

[[nacm.rule_lists.rules]]
name = "everything"
action = "permit"

[[nacm.rule_lists]]
name = "viewers"
groups = ["viewers"]

[[nacm.rule_lists.rules]]
name = "get"
rpc_name = "get"
action = "permit"

[[nacm.rule_lists.rules]]
name = "get-config"
rpc_name = "get-config"
action = "permit"

[[nacm.rule_lists.rules]]
name = "nothing-else"
access_operations = ["create", "update", "delete", "exec"]
action = "deny"
"""
