"""The resource catalogue (政务数据资源目录): departments declare their data in
`catalog/*.toml`, and the graph is built from it."""
