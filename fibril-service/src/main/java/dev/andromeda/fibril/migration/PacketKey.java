package dev.andromeda.fibril.migration;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The constellation's key for migration packets (HMAC-SHA256). Every node of a constellation
 * must hold the same key: a packet signed by anyone else is refused before a byte of it is
 * deserialized.
 */
public final class PacketKey {

    private final SecretKeySpec key;
    private final String origin;

    private PacketKey(byte[] bytes, String origin) {
        this.key = new SecretKeySpec(bytes, "HmacSHA256");
        this.origin = origin;
    }

    /**
     * {@code m31.fibril.packet-key} when set; else a key derived from {@code m31.auth.secret}
     * (shared by every service of a constellation); else a random key, good within this process only.
     */
    public static PacketKey resolve(String packetKey, String authSecret) {
        if (packetKey != null && !packetKey.isBlank()) {
            if (packetKey.length() < 16) throw new IllegalArgumentException("m31.fibril.packet-key must have at least 16 characters");
            return new PacketKey(packetKey.getBytes(StandardCharsets.UTF_8), "m31.fibril.packet-key");
        }
        if (authSecret != null && !authSecret.isBlank()) {
            return new PacketKey(hmac(authSecret.getBytes(StandardCharsets.UTF_8),
                    "m31 fibril migration packet key v1".getBytes(StandardCharsets.UTF_8)), "derived from m31.auth.secret");
        }
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return new PacketKey(b, "random (this process only)");
    }

    /** Where the key came from, for the log. */
    public String origin() { return origin; }

    public boolean processLocal() { return origin.startsWith("random"); }

    public byte[] sign(byte[] header, byte[] state) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            mac.update(header);
            mac.update((byte) 0);
            mac.update(state);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Constant-time comparison of a packet's signature with the one it should have. */
    public boolean verify(byte[] header, byte[] state, byte[] signature) {
        return signature != null && MessageDigest.isEqual(sign(header, state), signature);
    }

    private static byte[] hmac(byte[] k, byte[] msg) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(k, "HmacSHA256"));
            return mac.doFinal(msg);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
