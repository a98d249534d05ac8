package dev.andromeda.common.security;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Remembers the nonces of identity headers until they expire, so that each header is accepted
 * once by a service. Memory is bounded by the request rate times the header's short lifetime;
 * expired nonces are swept as new ones arrive.
 */
public final class ReplayGuard {

    private final Map<String, Long> seen = new ConcurrentHashMap<>();
    private final AtomicInteger sinceSweep = new AtomicInteger();
    private final LongSupplier clock;
    private final int maxEntries;

    public ReplayGuard() { this(System::currentTimeMillis, 2_000_000); }

    public ReplayGuard(LongSupplier clockMillis, int maxEntries) {
        this.clock = clockMillis;
        this.maxEntries = maxEntries;
    }

    /** True the first time a nonce is presented (until it expires), false on every later use. */
    public boolean firstUse(String nonce, long expiresAtMillis) {
        if (sinceSweep.incrementAndGet() >= 4096 || seen.size() >= maxEntries) sweep();
        if (seen.size() >= maxEntries) return false; // flooded beyond the bound: refuse rather than forget
        return seen.putIfAbsent(nonce, expiresAtMillis) == null;
    }

    public int size() { return seen.size(); }

    void sweep() {
        sinceSweep.set(0);
        long now = clock.getAsLong();
        seen.entrySet().removeIf(e -> e.getValue() < now);
    }
}
