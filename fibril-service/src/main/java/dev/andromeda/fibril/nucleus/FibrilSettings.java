package dev.andromeda.fibril.nucleus;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The limits and knobs of one nucleus ({@code m31.fibril.*}). A fibril that breaks a limit fails
 * alone, with a message naming the limit; the node and its other fibrils go on.
 */
@ConfigurationProperties(prefix = "m31.fibril")
public class FibrilSettings {

    /** Carrier threads; 0 means one per core, at least 2. */
    private int carriers = 0;
    /** Interpreter instructions a fibril may execute in its whole life. */
    private long maxInstructions = 20_000_000_000L;
    /** Interpreted JS frames deep a fibril may recurse. */
    private int maxStackDepth = 2000;
    /** How long a fibril may live, parked time included, unless its spawn asked for another limit… */
    private Duration wallClock = Duration.ofMinutes(30);
    /** …which may be at most this (a REPL session, a fibril serving requests, want hours). */
    private Duration maxWallClock = Duration.ofHours(24);
    /** How long a fibril runs before a host call hands its carrier to the next in line. */
    private Duration timeSlice = Duration.ofMillis(20);
    private int maxSourceBytes = 1 << 20;
    private int maxResultBytes = 4 << 20;
    private int maxMessageBytes = 4 << 20;
    /** Largest body http.req accepts. */
    private long maxHttpBytes = 64L << 20;
    /**
     * Address ranges http.req may not reach (CIDR): by default link-local, where clouds serve
     * instance metadata and credentials; a cluster adds its own networks (the Helm chart does).
     */
    private java.util.List<String> httpDeny = new java.util.ArrayList<>(java.util.List.of(
            "169.254.0.0/16", "fe80::/10", "100.100.100.200/32", "fd00:ec2::254/128"));
    /** Largest total a zip or gzip may inflate to. */
    private long maxInflatedBytes = 512L << 20;
    /** Ended fibrils kept for GET /fibrils/{id}. */
    private int keepEnded = 10_000;
    /**
     * While the node computes, the combiner gathers effects at least this long between flushes
     * (or 3 times the last flush's duration, if longer); when fibrils wait and the node idles, it
     * flushes at once (see EffectCombiner)…
     */
    private Duration flushInterval = Duration.ofSeconds(1);
    /** …and always at once when a generation holds this many distinct (space, key, attr) cells. */
    private int flushMaxEntries = 50_000;
    /**
     * HMAC key that signs migration packets; every node of a constellation needs the same. Empty:
     * derived from m31.auth.secret, or (neither set) a random key that works within one process.
     */
    private String packetKey = "";
    /** Largest serialized state a moving fibril may carry. */
    private int maxPacketBytes = 32 << 20;
    /** Checkpoint spawns and moves in the store (space sys_fibrils). */
    private boolean checkpoints = true;
    /**
     * How long a fibril waiting in recv() on a sync channel that fibrils of this node send on
     * waits for a handover in memory before it polls the channel service (see LocalRendezvous);
     * 0 turns the in-memory path off.
     */
    private Duration localRendezvous = Duration.ofMillis(20);

    public Duration getLocalRendezvous() { return localRendezvous; }
    public void setLocalRendezvous(Duration localRendezvous) { this.localRendezvous = localRendezvous; }
    public int getCarriers() { return carriers; }
    public void setCarriers(int carriers) { this.carriers = carriers; }
    public long getMaxInstructions() { return maxInstructions; }
    public void setMaxInstructions(long maxInstructions) { this.maxInstructions = maxInstructions; }
    public int getMaxStackDepth() { return maxStackDepth; }
    public void setMaxStackDepth(int maxStackDepth) { this.maxStackDepth = maxStackDepth; }
    public Duration getWallClock() { return wallClock; }
    public void setWallClock(Duration wallClock) { this.wallClock = wallClock; }
    public Duration getMaxWallClock() { return maxWallClock; }
    public void setMaxWallClock(Duration maxWallClock) { this.maxWallClock = maxWallClock; }
    public Duration getTimeSlice() { return timeSlice; }
    public void setTimeSlice(Duration timeSlice) { this.timeSlice = timeSlice; }
    public int getMaxSourceBytes() { return maxSourceBytes; }
    public void setMaxSourceBytes(int maxSourceBytes) { this.maxSourceBytes = maxSourceBytes; }
    public int getMaxResultBytes() { return maxResultBytes; }
    public void setMaxResultBytes(int maxResultBytes) { this.maxResultBytes = maxResultBytes; }
    public int getMaxMessageBytes() { return maxMessageBytes; }
    public void setMaxMessageBytes(int maxMessageBytes) { this.maxMessageBytes = maxMessageBytes; }
    public long getMaxHttpBytes() { return maxHttpBytes; }
    public java.util.List<String> getHttpDeny() { return httpDeny; }
    public void setHttpDeny(java.util.List<String> httpDeny) { this.httpDeny = httpDeny; }
    public void setMaxHttpBytes(long maxHttpBytes) { this.maxHttpBytes = maxHttpBytes; }
    public long getMaxInflatedBytes() { return maxInflatedBytes; }
    public void setMaxInflatedBytes(long maxInflatedBytes) { this.maxInflatedBytes = maxInflatedBytes; }
    public int getKeepEnded() { return keepEnded; }
    public void setKeepEnded(int keepEnded) { this.keepEnded = keepEnded; }
    public Duration getFlushInterval() { return flushInterval; }
    public void setFlushInterval(Duration flushInterval) { this.flushInterval = flushInterval; }
    public int getFlushMaxEntries() { return flushMaxEntries; }
    public void setFlushMaxEntries(int flushMaxEntries) { this.flushMaxEntries = flushMaxEntries; }

    public String getPacketKey() { return packetKey; }
    public void setPacketKey(String packetKey) { this.packetKey = packetKey; }
    public int getMaxPacketBytes() { return maxPacketBytes; }
    public void setMaxPacketBytes(int maxPacketBytes) { this.maxPacketBytes = maxPacketBytes; }
    public boolean isCheckpoints() { return checkpoints; }
    public void setCheckpoints(boolean checkpoints) { this.checkpoints = checkpoints; }

    public int carrierCount() {
        return carriers > 0 ? carriers : Math.max(2, Runtime.getRuntime().availableProcessors());
    }
}
