package dev.andromeda.gateway;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;

/** {@code m31.gateway.*}: limits and the naming resolution cache. */
@ConfigurationProperties(prefix = "m31.gateway")
public class GatewaySettings {

    private DataSize maxBodySize = DataSize.ofMegabytes(64);
    /** How long a resolved binding (id → url) is reused before naming is asked again. */
    private Duration resolveTtl = Duration.ofSeconds(2);
    /** How long a lookup in naming may take. */
    private Duration namingTimeout = Duration.ofSeconds(5);
    /** Bodies up to this size on resolved routes are buffered so the request can be re-sent once after a move. */
    private DataSize replayableBodySize = DataSize.ofMegabytes(1);
    private int resolveCacheEntries = 50_000;
    /** Token-less GET/HEAD under /fs go to the store as the anonymous caller (which answers only world-readable data). */
    private boolean anonymousReads = true;

    public DataSize getMaxBodySize() { return maxBodySize; }
    public void setMaxBodySize(DataSize maxBodySize) { this.maxBodySize = maxBodySize; }
    public Duration getResolveTtl() { return resolveTtl; }
    public void setResolveTtl(Duration resolveTtl) { this.resolveTtl = resolveTtl; }
    public Duration getNamingTimeout() { return namingTimeout; }
    public void setNamingTimeout(Duration namingTimeout) { this.namingTimeout = namingTimeout; }
    public DataSize getReplayableBodySize() { return replayableBodySize; }
    public void setReplayableBodySize(DataSize replayableBodySize) { this.replayableBodySize = replayableBodySize; }
    public boolean isAnonymousReads() { return anonymousReads; }
    public void setAnonymousReads(boolean anonymousReads) { this.anonymousReads = anonymousReads; }
    public int getResolveCacheEntries() { return resolveCacheEntries; }
    public void setResolveCacheEntries(int resolveCacheEntries) { this.resolveCacheEntries = resolveCacheEntries; }
}
