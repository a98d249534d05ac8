package dev.andromeda.common.web;

import dev.andromeda.common.problem.ProblemAdvice;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.http.MediaType;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Bounds request bodies by {@link BodyLimits}. A declared length over the bound is refused
 * before anything is read; an undeclared (chunked) body is counted while it is read and fails
 * with {@link BodyTooLarge}, which {@link ProblemAdvice} answers as 413. Nothing of an
 * oversized request is applied: it fails before its handler has the whole body.
 */
public class BodyLimitFilter extends OncePerRequestFilter {

    /** An IOException, so message converters pass it on as a cause. */
    public static final class BodyTooLarge extends IOException {
        public BodyTooLarge(long limit) {
            super("the request body is larger than " + limit + " bytes", null);
        }
    }

    private final BodyLimits limits;
    private final JsonMapper json;

    public BodyLimitFilter(BodyLimits limits, JsonMapper json) {
        this.limits = limits;
        this.json = json;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest req, HttpServletResponse resp, FilterChain chain)
            throws ServletException, IOException {
        // JSON and text bodies without a charset are UTF-8, not the servlet default ISO-8859-1
        if (req.getCharacterEncoding() == null) req.setCharacterEncoding("UTF-8");
        long limit = limits.limitFor(req);
        long declared = req.getContentLengthLong();
        if (declared > limit) {
            resp.setStatus(413);
            resp.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
            resp.setHeader("Connection", "close"); // don't read (and discard) the rest of a huge body
            resp.getOutputStream().write(json.writeValueAsBytes(ProblemAdvice.problem(413, "too-large",
                    "the request body is " + declared + " bytes; at most " + limit + " here", "body", req.getRequestURI())));
            return;
        }
        if (declared >= 0) {
            chain.doFilter(req, resp);
            return;
        }
        chain.doFilter(new HttpServletRequestWrapper(req) {
            private ServletInputStream counted;

            @Override
            public ServletInputStream getInputStream() throws IOException {
                if (counted == null) counted = new Counting(super.getInputStream(), limit);
                return counted;
            }
        }, resp);
    }

    private static final class Counting extends ServletInputStream {
        private final ServletInputStream in;
        private final long limit;
        private long n;

        Counting(ServletInputStream in, long limit) {
            this.in = in;
            this.limit = limit;
        }

        private void count(long k) throws IOException {
            if (k > 0 && (n += k) > limit) throw new BodyTooLarge(limit);
        }

        @Override public int read() throws IOException {
            int b = in.read();
            if (b >= 0) count(1);
            return b;
        }

        @Override public int read(byte[] b, int off, int len) throws IOException {
            int k = in.read(b, off, len);
            count(k);
            return k;
        }

        @Override public boolean isFinished() { return in.isFinished(); }
        @Override public boolean isReady() { return in.isReady(); }
        @Override public void setReadListener(ReadListener l) { in.setReadListener(l); }
    }
}
