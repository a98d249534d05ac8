package dev.andromeda.common.security;

import jakarta.servlet.http.HttpServletRequest;
import org.springframework.web.context.request.RequestAttributes;
import org.springframework.web.context.request.RequestContextHolder;
import org.springframework.web.context.request.ServletRequestAttributes;

/** The verified caller of a servlet request (set by {@link InternalIdentityFilter}). */
public final class Callers {

    private Callers() {}

    /**
     * The caller the request's signed identity header names; null when the service runs without
     * {@code m31.internal.key} (then nothing is checked, and {@link Access} allows) or, with
     * {@code m31.internal.require=false}, when the request came unsigned.
     */
    public static Caller of(HttpServletRequest request) {
        Object c = request.getAttribute(Caller.ATTRIBUTE);
        return c instanceof Caller caller ? caller : null;
    }

    /**
     * Admin-only operations (packet capture, draining nodes, changing the placement policy): a
     * 403 problem unless the verified caller has the admin role; a 401 when the service checks
     * identities but this request came unsigned (m31.internal.require=false); allowed when the
     * service runs without m31.internal.key (nothing to check).
     */
    public static Caller requireAdmin(HttpServletRequest request, String what) {
        Caller c = of(request);
        if (c == null && Boolean.TRUE.equals(request.getAttribute(InternalIdentityFilter.ACTIVE_ATTR))) {
            throw new dev.andromeda.common.problem.M31Problem(401, "unauthenticated-caller",
                    what + " needs a signed caller with the admin role", InternalIdentity.HEADER);
        }
        Access.requireAdmin(c, what);
        return c;
    }

    /** The caller of the request this thread is serving, or null (see {@link #of}). */
    public static Caller current() {
        RequestAttributes attrs = RequestContextHolder.getRequestAttributes();
        if (attrs instanceof ServletRequestAttributes s) return of(s.getRequest());
        Object c = attrs == null ? null : attrs.getAttribute(Caller.ATTRIBUTE, RequestAttributes.SCOPE_REQUEST);
        return c instanceof Caller caller ? caller : null;
    }
}
