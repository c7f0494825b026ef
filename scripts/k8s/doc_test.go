// Package k8s holds the Kubernetes manifests, scripts and image build file
// that run wshold shards as an Indexed Job (see README.md). It has no Go
// code; its tests validate those files, since no cluster or container
// engine is at hand where the tests run.
package k8s
