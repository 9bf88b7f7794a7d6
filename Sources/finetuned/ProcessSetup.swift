import Glibc
import NIOCore
import NIOPosix

#if canImport(CMalloc)
    import CMalloc
#endif

/// What the daemon's process sets before anything else runs, for a small and quiet idle
/// footprint (`make bench` measures it fresh and after a whole workflow).
enum ProcessSetup {
    static func apply() {
        returnFreedMemory()
        runTasksOnEventLoops()
    }

    /// glibc raises its mmap threshold to the largest block freed (up to 32 MiB) and its
    /// trim threshold to twice that, so after the encoder's large buffers a daemon kept tens
    /// of MB of freed heap resident for good (measured: 23 MiB in one thread's arena, 9 KiB of
    /// it in use). Fixed thresholds turn that adaptation off: blocks from 1 MiB are mapped
    /// and unmapped on their own, and a heap top over 1 MiB free goes back to the system.
    /// One arena for all threads: each thread that allocates would otherwise get an arena of
    /// its own (training, inference, scoring, SQLite), whose free top `malloc_trim` leaves
    /// resident; after a local workflow that held 2.5 MiB more (8.1 against 5.2 MiB anonymous),
    /// while the per-thread caches keep small allocations off the shared lock (the workflow
    /// took 17 s either way).
    private static func returnFreedMemory() {
        #if canImport(CMalloc)
            _ = mallopt(M_MMAP_THRESHOLD, 1 << 20)
            _ = mallopt(M_TRIM_THRESHOLD, 1 << 20)
            _ = mallopt(M_ARENA_MAX, 1)
        #endif
    }

    /// Tasks run on SwiftNIO's event loops (the threads its sockets use, asleep in
    /// `epoll_wait`) instead of libdispatch's worker pool, through SwiftNIO's public way of
    /// doing so; blocking work has threads of its own (`SerialWorker`). Must happen on the
    /// main thread before any task is enqueued.
    ///
    /// A libdispatch pool, once started, arms a monitor that wakes the process every second
    /// for as long as it lives: 86,400 wakeups a day for a daemon that mostly waits for
    /// drops. The hook moves only jobs that run now; a job that waits (`Task.sleep`) would
    /// still go to libdispatch and start that pool, which is why every wait the daemon can cut
    /// short is a `Timers` timer instead, and `finetuned-bench idle` counts the wakeups.
    private static func runTasksOnEventLoops() {
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    /// Runs `body` as a task on the event loops, parks the main thread until it returns, and
    /// exits.
    ///
    /// Not `async main`: that hands the main thread to libdispatch's `dispatch_main`, which
    /// ends it with `pthread_exit`, and unwinding the main thread made glibc load libgcc_s
    /// and the unwinder search the binary's unwind tables, which stayed resident: 350 KiB of
    /// an idle daemon for a thread that does nothing. As `dispatch_main` does, the
    /// asynchronous signals are blocked first, so every thread started afterwards inherits
    /// the mask and the signals the daemon handles wait for its signal sources (signalfd)
    /// rather than being delivered, or ignored, on some thread.
    static func runMain(_ body: @escaping @Sendable () async -> Void) -> Never {
        var signals = sigset_t()
        sigfillset(&signals)
        for synchronous in [SIGILL, SIGTRAP, SIGABRT, SIGFPE, SIGBUS, SIGSEGV, SIGSYS, SIGPIPE, SIGPROF] {
            sigdelset(&signals, synchronous)
        }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        Task {
            await body()
            exit(0)
        }
        while true { pause() }
    }
}
