//go:build tools

// The programs built by tools/cluster/build. This file is never compiled;
// it only keeps their modules in go.mod and go.sum.
package cluster

import (
	_ "github.com/k3s-io/kine"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "sigs.k8s.io/cri-tools/cmd/crictl"
)
