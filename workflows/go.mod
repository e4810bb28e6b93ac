module github.com/dpsweep/dpsweep/workflows

go 1.26.0
