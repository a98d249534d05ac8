package dev.andromeda.store.web;

import dev.andromeda.common.web.BodyLimits;
import dev.andromeda.store.code.CodeStore;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.stereotype.Component;

/** 1 MB for code, 4 MB for an object, 64 MB for an invocation batch, 1 MB for anything else. */
@Component
class StoreBodyLimits implements BodyLimits {

    static final long OBJECT_MAX = 4L * 1024 * 1024;
    static final long BATCH_MAX = 64L * 1024 * 1024;

    @Override
    public long limitFor(HttpServletRequest req) {
        String path = req.getRequestURI();
        if (path.startsWith("/code")) return CodeStore.MAX_BYTES;
        if (path.startsWith("/fs/") && path.endsWith(":invoke")) return BATCH_MAX;
        if (path.startsWith("/fs/") && path.indexOf('/', 4) > 0) return OBJECT_MAX;
        return DEFAULT;
    }
}
