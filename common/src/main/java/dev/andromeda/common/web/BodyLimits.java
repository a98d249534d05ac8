package dev.andromeda.common.web;

import jakarta.servlet.http.HttpServletRequest;

/**
 * The largest request body a service accepts for a request. A service declares one bean of
 * this type; without it every body is bounded by {@link #DEFAULT}.
 */
@FunctionalInterface
public interface BodyLimits {

    long DEFAULT = 1024 * 1024;

    long limitFor(HttpServletRequest request);
}
