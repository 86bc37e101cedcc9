module example.com/kvlite/cli

go 1.21
