"""The one door for background work: named tasks, enqueue, one retry policy, the runners that run them."""
