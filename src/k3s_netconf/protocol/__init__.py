"""The NETCONF server: SSH, framing, sessions and the message layer (RFC 6241, RFC 6242).

It checks what the message layer requires and answers the operations on sessions itself;
every other operation goes to the service, the one way down to datastores and the cluster.
"""
