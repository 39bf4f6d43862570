package main

func steadyStateGroup() group { return group{name: "steadystate", big: true} }
