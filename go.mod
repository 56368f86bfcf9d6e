module github.com/driftd/driftd

go 1.26.0
