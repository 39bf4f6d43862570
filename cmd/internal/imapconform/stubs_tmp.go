package main

func compressGroup() group    { return group{name: "compress"} }
func aclGroup() group         { return group{name: "acl"} }
func specialUseGroup() group  { return group{name: "specialuse"} }
func uidplusGroup() group     { return group{name: "uidplus"} }
func moveGroup() group        { return group{name: "move"} }
func unselectGroup() group    { return group{name: "unselect"} }
func literalGroup() group     { return group{name: "literal"} }
func namespaceGroup() group   { return group{name: "namespace"} }
func steadyStateGroup() group { return group{name: "steadystate", big: true} }
