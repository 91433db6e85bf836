"""Reading and writing files: the only place in the package that touches the disk."""
