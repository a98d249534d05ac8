package dev.andromeda.common.security;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The signed identity header services trust instead of a bearer token:
 * {@code X-M31-Identity: v1.<base64url(json)>.<base64url(HMAC-SHA256)>}, keyed with
 * {@code m31.internal.key}. The JSON names the caller ({@code sub}, {@code roles}), who signed
 * it ({@code via}), the request it is good for ({@code m} method, {@code p} raw path), when it
 * was made and until when it holds ({@code iat}, {@code exp}, epoch milliseconds; a few seconds)
 * and a random nonce {@code n}, so that a copied header cannot be used for another request,
 * later, or twice ({@link ReplayGuard}).
 */
public final class InternalIdentity {

    public static final String HEADER = "X-M31-Identity";
    public static final int MIN_KEY_BYTES = 32;
    private static final String VERSION = "v1";
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder UNB64 = Base64.getUrlDecoder();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** A header that must be refused; the message is safe to show the caller. */
    public static final class Invalid extends Exception {
        public Invalid(String message) { super(message, null, false, false); }
    }

    private final SecretKeySpec key;
    private final Duration ttl;
    private final Duration skew;
    private final Clock clock;
    private final ThreadLocal<Mac> macs;
    private final byte[] noncePrefix = new byte[8];
    private final java.util.concurrent.atomic.AtomicLong nonces = new java.util.concurrent.atomic.AtomicLong();

    public InternalIdentity(String key, Duration ttl) {
        this(key, ttl, Duration.ofSeconds(5), Clock.systemUTC());
    }

    public InternalIdentity(String key, Duration ttl, Duration skew, Clock clock) {
        this.key = new SecretKeySpec(checkedKey(key), "HmacSHA256");
        this.ttl = ttl;
        this.skew = skew;
        this.clock = clock;
        this.macs = ThreadLocal.withInitial(this::newMac);
        RANDOM.nextBytes(noncePrefix);
        newMac(); // fail now, not on the first request
    }

    /** The key's bytes, or a clear failure when it is shorter than {@value #MIN_KEY_BYTES} bytes. */
    public static byte[] checkedKey(String key) {
        if (key == null || key.isBlank()) throw new IllegalStateException("m31.internal.key is not set");
        byte[] b = key.getBytes(StandardCharsets.UTF_8);
        if (b.length < MIN_KEY_BYTES) {
            throw new IllegalStateException("m31.internal.key (env M31_INTERNAL_KEY) is " + b.length
                    + " bytes: it needs at least " + MIN_KEY_BYTES);
        }
        return b;
    }

    public Duration ttl() { return ttl; }

    /** A header value good for one {@code method} on one {@code rawPath} (no query), for a short while. */
    public String sign(Caller caller, String method, String rawPath) {
        long now = clock.millis();
        // written by hand: this runs on every request the gateway forwards and every call a service makes
        StringBuilder json = new StringBuilder(160).append("{\"sub\":");
        quote(json, caller.subject()).append(",\"roles\":[");
        for (int i = 0; i < caller.roles().size(); i++) quote(i == 0 ? json : json.append(','), caller.roles().get(i));
        json.append(']');
        if (caller.via() != null) quote(json.append(",\"via\":"), caller.via());
        quote(json.append(",\"m\":"), method.toUpperCase(java.util.Locale.ROOT));
        quote(json.append(",\"p\":"), rawPath == null || rawPath.isEmpty() ? "/" : rawPath);
        json.append(",\"iat\":").append(now).append(",\"exp\":").append(now + ttl.toMillis());
        quote(json.append(",\"n\":"), nonce());
        String payload = VERSION + "." + B64.encodeToString(json.append('}').toString().getBytes(StandardCharsets.UTF_8));
        return payload + "." + B64.encodeToString(mac(payload));
    }

    /**
     * Unique per header: this signer's random 64-bit prefix and a counter. A nonce needs to be
     * unique, not unpredictable (the MAC covers it), so no SecureRandom call per request.
     */
    private String nonce() {
        byte[] n = new byte[16];
        System.arraycopy(noncePrefix, 0, n, 0, 8);
        long c = nonces.incrementAndGet();
        for (int i = 0; i < 8; i++) n[8 + i] = (byte) (c >>> (56 - 8 * i));
        return B64.encodeToString(n);
    }

    private static StringBuilder quote(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch == '"' || ch == '\\') b.append('\\').append(ch);
            else if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
            else b.append(ch);
        }
        return b.append('"');
    }

    /** A verified header: who, and the nonce and expiry the replay guard needs. */
    public record Verified(Caller caller, String nonce, long expiresAtMillis) {}

    /** Checks the signature, the binding to this request and the time window (not replays: see {@link ReplayGuard}). */
    public Verified verify(String header, String method, String rawPath) throws Invalid {
        if (header == null || header.isBlank()) throw new Invalid("the request carries no " + HEADER + " header");
        if (header.length() > 4096) throw new Invalid("the " + HEADER + " header is too long");
        int first = header.indexOf('.');
        int last = header.lastIndexOf('.');
        if (first < 0 || last <= first || !header.substring(0, first).equals(VERSION)) {
            throw new Invalid("the " + HEADER + " header is malformed");
        }
        String payload = header.substring(0, last);
        byte[] given;
        byte[] body;
        try {
            given = UNB64.decode(header.substring(last + 1));
            body = UNB64.decode(header.substring(first + 1, last));
        } catch (IllegalArgumentException e) {
            throw new Invalid("the " + HEADER + " header is malformed");
        }
        if (!MessageDigest.isEqual(given, mac(payload))) throw new Invalid("the " + HEADER + " signature is invalid");
        JsonNode c;
        try {
            c = JSON.readTree(body);
        } catch (RuntimeException e) {
            throw new Invalid("the " + HEADER + " claims are malformed");
        }
        String m = c.path("m").asString("");
        String p = c.path("p").asString("");
        if (!m.equalsIgnoreCase(method) || !p.equals(rawPath == null || rawPath.isEmpty() ? "/" : rawPath)) {
            throw new Invalid("the " + HEADER + " header was made for another request");
        }
        long now = clock.millis();
        long iat = c.path("iat").asLong(0);
        long exp = c.path("exp").asLong(0);
        if (exp + skew.toMillis() < now) throw new Invalid("the " + HEADER + " header has expired");
        if (iat - skew.toMillis() > now || exp - iat > ttl.toMillis() + skew.toMillis()) {
            throw new Invalid("the " + HEADER + " header's time window is not acceptable");
        }
        String sub = c.path("sub").asString("");
        String nonce = c.path("n").asString("");
        if (sub.isBlank() || nonce.length() < 12) throw new Invalid("the " + HEADER + " claims are incomplete");
        List<String> roles = new ArrayList<>();
        for (JsonNode r : c.path("roles")) roles.add(r.asString());
        String via = c.hasNonNull("via") ? c.get("via").asString() : null;
        return new Verified(new Caller(sub, roles, via), nonce, exp + skew.toMillis());
    }

    private byte[] mac(String payload) {
        Mac mac = macs.get();
        return mac.doFinal(payload.getBytes(StandardCharsets.US_ASCII));
    }

    private Mac newMac() {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return mac;
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HmacSHA256 unavailable: " + e.getMessage(), e);
        }
    }
}
