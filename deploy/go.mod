module github.com/dpsweep/dpsweep/deploy

go 1.26.0

require (
	github.com/dpsweep/dpsweep/services/platform v0.0.0
	gopkg.in/yaml.v3 v3.0.1
)

replace (
	github.com/dpsweep/dpsweep/awssim => ../awssim
	github.com/dpsweep/dpsweep/gen => ../gen
	github.com/dpsweep/dpsweep/services/collection => ../services/collection
	github.com/dpsweep/dpsweep/services/platform => ../services/platform
)
