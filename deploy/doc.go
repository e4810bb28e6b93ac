// Package deploy holds the tests of dpsweep's deployment artefacts: the
// Dockerfiles under docker/, the compose file, the Kubernetes manifests
// (validated by kustomize and kubeconform at the versions the Makefile pins,
// against schemas generated offline by cmd/k8s-schemas) and the member-account
// role in CloudFormation and Terraform, whose actions must be exactly the
// collectors'.
package deploy
