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
}
