package dev.andromeda.common.security;

import java.util.List;

/**
 * Who a request acts for, as the gateway verified it (a user's bearer token) or as a service
 * signed it (a node acting for itself, or for the user who spawned a fibril). Carried between
 * services in the signed {@link InternalIdentity#HEADER} header; read in a servlet service with
 * {@link Callers#of(jakarta.servlet.http.HttpServletRequest)}.
 *
 * @param subject who: a user's token subject, {@code node:E0}, {@code service:store-service}, {@code anonymous}
 * @param roles   e.g. {@code admin}; {@code service} marks the mantle's own components
 * @param via     who signed the header ({@code gateway}, {@code node:E0}, …), for logs and audits
 */
public record Caller(String subject, List<String> roles, String via) {

    public static final String ADMIN = "admin";
    public static final String SERVICE = "service";
    /** Request attribute under which the verified caller is kept. */
    public static final String ATTRIBUTE = Caller.class.getName();
    /** Someone outside calling a public interface (/pub/{name}) without a token. */
    public static final Caller ANONYMOUS = new Caller("anonymous", List.of(), "gateway");
    /** The {@link #via} of an anonymous send the gateway let in through a public name it resolved in naming. */
    public static final String VIA_PUBLIC = "gateway/pub/";

    public Caller {
        if (subject == null || subject.isBlank()) throw new IllegalArgumentException("a caller has a subject");
        roles = roles == null ? List.of() : List.copyOf(roles);
    }

    public static Caller of(String subject, List<String> roles) {
        return new Caller(subject, roles, null);
    }

    /** A mantle component acting for itself (role {@code service}). */
    public static Caller service(String subject) {
        return new Caller(subject, List.of(SERVICE), subject);
    }

    public boolean hasRole(String role) { return roles.contains(role); }
    public boolean isAdmin() { return hasRole(ADMIN); }
    public boolean isService() { return hasRole(SERVICE); }
    public boolean isAnonymous() { return "anonymous".equals(subject) && roles.isEmpty(); }

    public Caller via(String signer) { return new Caller(subject, roles, signer); }

    /**
     * Someone outside sending through {@code POST /pub/{name}}: anonymous, but the gateway vouches
     * that the channel's owner published its send endpoint under that name (naming checked the
     * owner), and the signed header is bound to exactly that channel's send path.
     */
    public static Caller publicSender(String name) {
        return new Caller("anonymous", List.of(), VIA_PUBLIC + name);
    }

    /** An anonymous caller that came in through a public interface ({@link #publicSender}). */
    public boolean isPublicSender() {
        return isAnonymous() && via != null && via.startsWith(VIA_PUBLIC);
    }
}
