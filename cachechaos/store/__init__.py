"""The store: what a run leaves on disk, and how it is written and read.

The bottom layer. Every other package may import it; it imports no other
package of cachechaos (a test keeps it so). It owns the run directory's layout
(`rundir`), the journal (`journal`) and small files written atomically
(`files`). The history's binary record format stays in `cachechaos.history`,
which sits beside the store and imports only it.
"""
