/// Bounds the InvokeModel calls in flight, and narrows the bound while the service throttles:
/// halved on a throttle, widened by one after a run of successes, never above the configured
/// width nor below one. Waiters are served in arrival order.
actor InvokeLimiter {
    let maximum: Int
    private(set) var limit: Int
    private var inFlight = 0
    private var successes = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(maximum: Int) {
        self.maximum = max(1, maximum)
        limit = self.maximum
    }

    func acquire() async {
        if inFlight < limit {
            inFlight += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release(throttled: Bool) {
        if throttled {
            limit = max(1, limit / 2)
            successes = 0
        } else {
            successes += 1
            if successes >= limit * 4, limit < maximum {
                limit += 1
                successes = 0
            }
        }
        inFlight -= 1
        while inFlight < limit, !waiters.isEmpty {
            inFlight += 1
            waiters.removeFirst().resume()
        }
    }
}
