"""The Kubernetes layer: apps as Deployments, and a watch cache of what the cluster runs.

``manifests`` turns typed apps into Kubernetes objects without any I/O; ``hostpaths`` keeps
host-path volumes inside the allowed roots; ``workloads`` changes the cluster; ``watching``
observes it; ``failures`` maps the client's exceptions to the project's errors. Nothing here
knows about XML or the protocol: callers hand in typed values and get typed values back.
"""
