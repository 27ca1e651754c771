"""Port forwarding from the management namespace to Pods, and the links that carry it.

``tables`` and ``targets`` are pure: they render the one nftables table the plugin owns from
the rules and the Pods' addresses, and read a listing of it back. ``links`` checks (and where
the settings ask, creates) the veth pair, addresses, route and IPv4 forwarding with pyroute2;
``commands`` runs nft and sysctl inside a namespace; ``forwarding`` ties them together and
keeps the table following the Pods.
"""
