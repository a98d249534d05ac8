package dev.andromeda.store.web;

import dev.andromeda.api.StoreApi;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.store.objects.ObjectStore;
import dev.andromeda.store.query.Cursors;
import dev.andromeda.store.query.SpaceQuery;
import dev.andromeda.store.space.SpaceCatalog;
import dev.andromeda.store.space.SpaceType;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.json.JsonMapper;

/**
 * The JSON array of a query, the common case, apart from {@link StoreController}: that one
 * implements the generated interface, whose {@code @Validated} puts every call of it through
 * bean validation's method interceptor — 5-7% of the request thread's samples (JFR) on a query
 * whose parameters carry no constraint at all. This handler checks what it takes itself (filters,
 * sort, limit, cursor in {@link SpaceQuery}). It is more specific than the generated mapping
 * (its params), which still answers {@code Accept: application/cbor}.
 */
@RestController
class PageController {

    private final SpaceCatalog spaces;
    private final ObjectStore objects;
    private final Cursors cursors;
    private final JsonMapper json;

    PageController(SpaceCatalog spaces, ObjectStore objects, Cursors cursors, JsonMapper json) {
        this.spaces = spaces;
        this.objects = objects;
        this.cursors = cursors;
        this.json = json;
    }

    /** Written from the rows' bytes (see {@link ObjectStore#queryJson}). */
    @GetMapping(path = StoreApi.PATH_QUERY_SPACE, params = {"watch!=true", "!meta", "fmt!=NDJSON", "fmt!=CSV"},
            produces = "application/json")
    public void queryJson(@PathVariable("space") String space, @RequestParam(value = "fmt", required = false) String fmt,
                          @RequestParam(value = "sort", required = false) String sort, HttpServletRequest request,
                          HttpServletResponse resp) throws IOException {
        write(space, fmt, sort, request, resp, null);
    }

    /**
     * The page, or an M31Problem before anything is written; {@code beforeBody} (may be null) runs
     * once the answer is certain, before its bytes go out (a client may have them before this returns).
     */
    void write(String space, String fmt, String sort, HttpServletRequest request, HttpServletResponse resp, Runnable beforeBody)
            throws IOException {
        if (fmt != null && !fmt.equals("JSON")) throw M31Problem.badRequest("fmt", "fmt is JSON, NDJSON or CSV");
        SpaceType t = StoreController.readable(spaces, request, space);
        SpaceQuery q = SpaceQuery.build(t, request.getParameterMap(), sort, request.getParameter("limit"), request.getParameter("cursor"),
                cursors, json, false);
        ObjectStore.RawPage page = objects.queryJson(t, q, cursors);
        resp.setStatus(HttpStatus.OK.value());
        resp.setContentType("application/json");
        if (page.next() != null) {
            resp.setHeader(StoreController.CURSOR_HEADER, page.next());
            resp.setHeader("Link", "<" + StoreController.nextLink(request, space, page.next()) + ">; rel=\"next\"");
        }
        resp.setContentLength(page.size());
        if (beforeBody != null) beforeBody.run();
        resp.getOutputStream().write(page.json(), 0, page.size());
    }
}
