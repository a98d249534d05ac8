package dev.andromeda.gateway.auth;

import dev.andromeda.common.security.Caller;
import dev.andromeda.common.security.InternalIdentity;
import org.springframework.http.HttpHeaders;

/**
 * Signs the internal identity header ({@code X-M31-Identity}) on what the gateway sends to the
 * services: for a client's request as the verified caller, for the gateway's own look-ups in
 * naming as {@code service:gateway}. Without {@code m31.internal.key} it signs nothing.
 */
public final class GatewaySigner {

    public static final Caller GATEWAY = Caller.service("service:gateway");

    private final InternalIdentity identity;

    public GatewaySigner(InternalIdentity identity) {
        this.identity = identity;
    }

    public boolean enabled() { return identity != null; }

    /** Sets (replacing any) the identity header for {@code who} making {@code method rawPath}. */
    public void sign(HttpHeaders headers, Caller who, String method, String rawPath) {
        headers.remove(InternalIdentity.HEADER);
        if (identity == null || who == null) return;
        // a public sender keeps the name it came through (channel-service lets it send on that ground alone)
        Caller signed = who.isPublicSender() ? who : who.via("gateway");
        headers.set(InternalIdentity.HEADER, identity.sign(signed, method, rawPath));
    }

    /** For the gateway's own requests to naming. */
    public void signAsGateway(HttpHeaders headers, String method, String rawPath) {
        if (identity != null) headers.set(InternalIdentity.HEADER, identity.sign(GATEWAY, method, rawPath));
    }
}
