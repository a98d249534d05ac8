package dev.andromeda.gateway.docs;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import org.springframework.core.io.ClassPathResource;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;
import org.springframework.http.CacheControl;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/**
 * The constellation's API documentation, served by the gateway without a token: the contract
 * {@code openapi/m31.yaml} (copied onto the classpath at build time) as {@code GET /openapi.yaml}
 * and, as JSON, {@code GET /v3/api-docs}; and Swagger UI ({@code org.webjars:swagger-ui}) at
 * {@code /swagger-ui/index.html} (also {@code /swagger-ui}, {@code /swagger-ui.html}), pointed at
 * /openapi.yaml. Its "Authorize" button takes the bearer token for "Try it out".
 */
public final class ApiDocs {

    public static final String SPEC = "openapi/m31.yaml";
    private static final String WEBJAR = "META-INF/resources/webjars/swagger-ui/";
    private static final Set<String> UI_FILES = Set.of("swagger-ui.css", "index.css", "swagger-ui-bundle.js",
            "swagger-ui-standalone-preset.js", "favicon-16x16.png", "favicon-32x32.png", "oauth2-redirect.html", "oauth2-redirect.js");
    private static final MediaType YAML = MediaType.parseMediaType("application/yaml");

    private final byte[] yaml;
    private final byte[] json;
    private final String uiBase;

    public ApiDocs(JsonMapper mapper) throws IOException {
        try (InputStream in = new ClassPathResource(SPEC).getInputStream()) {
            this.yaml = in.readAllBytes();
        }
        Object tree = new Yaml(new SafeConstructor(new LoaderOptions())).load(new String(yaml, StandardCharsets.UTF_8));
        this.json = mapper.writeValueAsBytes(tree);
        Resource[] bundles = new PathMatchingResourcePatternResolver().getResources("classpath*:" + WEBJAR + "*/swagger-ui-bundle.js");
        if (bundles.length == 0) throw new IllegalStateException("swagger-ui webjar missing from the classpath");
        String url = bundles[0].getURL().toString();
        String version = url.substring(url.indexOf(WEBJAR) + WEBJAR.length(), url.lastIndexOf('/'));
        this.uiBase = WEBJAR + version + "/";
    }

    public byte[] yaml() { return yaml; }
    public byte[] json() { return json; }

    public RouterFunction<ServerResponse> routes() {
        return RouterFunctions.route()
                .GET("/openapi.yaml", r -> ok(YAML, yaml))
                .GET("/v3/api-docs", r -> ok(MediaType.APPLICATION_JSON, json))
                .GET("/swagger-ui", r -> redirect())
                .GET("/swagger-ui.html", r -> redirect())
                .GET("/swagger-ui/", r -> redirect())
                .GET("/swagger-ui/index.html", r -> ServerResponse.ok().contentType(MediaType.TEXT_HTML)
                        .cacheControl(CacheControl.noCache()).bodyValue(INDEX))
                .GET("/swagger-ui/swagger-initializer.js", r -> ServerResponse.ok()
                        .contentType(MediaType.parseMediaType("text/javascript")).bodyValue(INITIALIZER))
                .GET("/swagger-ui/{file}", r -> {
                    String file = r.pathVariable("file");
                    if (!UI_FILES.contains(file)) return ServerResponse.notFound().build();
                    Resource res = new ClassPathResource(uiBase + file);
                    MediaType type = file.endsWith(".css") ? MediaType.parseMediaType("text/css")
                            : file.endsWith(".js") ? MediaType.parseMediaType("text/javascript")
                            : file.endsWith(".png") ? MediaType.IMAGE_PNG : MediaType.TEXT_HTML;
                    return ServerResponse.ok().contentType(type).cacheControl(CacheControl.maxAge(java.time.Duration.ofDays(1)))
                            .bodyValue(res);
                })
                .build();
    }

    private static Mono<ServerResponse> ok(MediaType type, byte[] body) {
        return ServerResponse.ok().contentType(type).cacheControl(CacheControl.noCache()).bodyValue(body);
    }

    private static Mono<ServerResponse> redirect() {
        return ServerResponse.status(302).header("Location", "/swagger-ui/index.html").build();
    }

    static final String INDEX = """
            <!DOCTYPE html>
            <html lang="en">
              <head>
                <meta charset="UTF-8">
                <title>Andromeda (M31) API</title>
                <link rel="stylesheet" type="text/css" href="./swagger-ui.css" />
                <link rel="stylesheet" type="text/css" href="./index.css" />
                <link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32" />
              </head>
              <body>
                <div id="swagger-ui"></div>
                <script src="./swagger-ui-bundle.js" charset="UTF-8"></script>
                <script src="./swagger-ui-standalone-preset.js" charset="UTF-8"></script>
                <script src="./swagger-initializer.js" charset="UTF-8"></script>
              </body>
            </html>
            """;

    static final String INITIALIZER = """
            window.onload = function() {
              window.ui = SwaggerUIBundle({
                url: "/openapi.yaml",
                dom_id: '#swagger-ui',
                deepLinking: true,
                persistAuthorization: true,
                presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
                plugins: [SwaggerUIBundle.plugins.DownloadUrl],
                layout: "StandaloneLayout"
              });
            };
            """;

}
