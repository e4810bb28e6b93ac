module github.com/dpsweep/dpsweep/deploy

go 1.26.0
