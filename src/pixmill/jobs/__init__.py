"""The job lifecycle: states, execution, and dispatch through a runner port."""
