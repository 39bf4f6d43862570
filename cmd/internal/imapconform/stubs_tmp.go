package main

func condstoreGroup() group   { return group{name: "condstore"} }
func qresyncGroup() group     { return group{name: "qresync"} }
func quotaGroup() group       { return group{name: "quota"} }
func idGroup() group          { return group{name: "id"} }
func sortGroup() group        { return group{name: "sort"} }
func threadGroup() group      { return group{name: "thread"} }
func esearchGroup() group     { return group{name: "esearch"} }
func compressGroup() group    { return group{name: "compress"} }
func aclGroup() group         { return group{name: "acl"} }
func specialUseGroup() group  { return group{name: "specialuse"} }
func uidplusGroup() group     { return group{name: "uidplus"} }
func moveGroup() group        { return group{name: "move"} }
func unselectGroup() group    { return group{name: "unselect"} }
func literalGroup() group     { return group{name: "literal"} }
func namespaceGroup() group   { return group{name: "namespace"} }
func steadyStateGroup() group { return group{name: "steadystate", big: true} }
