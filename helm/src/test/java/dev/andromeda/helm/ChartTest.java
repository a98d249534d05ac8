package dev.andromeda.helm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/** helm/m31 linted and rendered by real helm (helm-java's bundled native library). */
class ChartTest {

    /** Maven runs tests with basedir = helm/; the chart sits beside this module's pom. */
    static final Path CHART = Paths.get("m31");
    static final Set<String> MANTLE = Set.of("gateway", "naming-service", "store-service", "channel-service", "scheduler-service");
    static final Map<String, Integer> PORTS = Map.of("gateway", 8031, "naming-service", 8032, "store-service", 8033,
            "channel-service", 8034, "scheduler-service", 8035, "fibril-service", 8040);
    static final List<String> WIRING = List.of("M31_NAMING_URL", "M31_STORE_URL", "M31_CHANNEL_URL", "M31_SCHEDULER_URL",
            "M31_POSTGRES_URL", "M31_POSTGRES_USER", "M31_POSTGRES_PASSWORD", "M31_KAFKA_BOOTSTRAP");

    @Test
    void chartIsWhereTheTestExpectsIt() {
        assertThat(CHART.resolve("Chart.yaml")).exists();
        assertThat(Files.isDirectory(CHART.resolve("templates"))).isTrue();
    }

    @Test
    void lintPasses() {
        LintResult result = new Helm(CHART).lint().call();
        assertThat(result.isFailed()).as("lint messages: %s", result.getMessages()).isFalse();
        LintResult strict = new Helm(CHART).lint().strict().call();
        assertThat(strict.isFailed()).as("strict lint messages: %s", strict.getMessages()).isFalse();
    }

    @Test
    void defaultValuesRenderTheWholeConstellation() {
        List<Map<String, Object>> docs = render(new Helm(CHART).template().withName("m31").withNamespace("andromeda").call());

        docs.forEach(ChartTest::assertKubernetesObject);

        Map<String, Object> sts = single(docs, "StatefulSet");
        assertThat(name(sts)).isEqualTo("m31-fibril");
        assertThat(map(sts, "spec").get("replicas")).isEqualTo(2);
        assertThat(map(sts, "spec").get("serviceName")).isEqualTo("m31-fibril");

        List<Map<String, Object>> deployments = ofKind(docs, "Deployment");
        assertThat(deployments).hasSize(5);
        Set<String> components = deployments.stream().map(d -> containers(d).get(0).get("name").toString()).collect(Collectors.toSet());
        assertThat(components).isEqualTo(MANTLE);
        assertThat(deployments.stream().map(ChartTest::name))
                .containsExactlyInAnyOrder("m31-gateway", "m31-naming-service", "m31-store-service", "m31-channel-service",
                        "m31-scheduler-service");

        // a Service per mantle service, on its port, plus the headless one of the fibril nodes
        List<Map<String, Object>> services = ofKind(docs, "Service");
        assertThat(services.stream().map(ChartTest::name)).containsExactlyInAnyOrder("m31-gateway", "m31-naming-service",
                "m31-store-service", "m31-channel-service", "m31-scheduler-service", "m31-fibril");
        Map<String, Object> headless = byName(services, "m31-fibril");
        assertThat(map(headless, "spec").get("clusterIP")).isEqualTo("None");
        for (Map<String, Object> svc : services) {
            String component = ((Map<?, ?>) map(map(svc, "spec"), "selector")).get("app.kubernetes.io/component").toString();
            Object port = list(map(svc, "spec"), "ports").get(0).get("port");
            assertThat(port).as(name(svc)).isEqualTo(PORTS.get(component));
        }

        // every container: image from values, probes on the health groups, resources, the env wiring
        List<Map<String, Object>> workloads = new ArrayList<>(deployments);
        workloads.add(sts);
        for (Map<String, Object> w : workloads) {
            for (Map<String, Object> c : containers(w)) {
                String component = c.get("name").toString();
                assertThat(c.get("image")).isEqualTo("ghcr.io/andromeda-m31/" + component + ":0.1.0");
                assertThat(probePath(c, "readinessProbe")).as(component).isEqualTo("/actuator/health/readiness");
                assertThat(probePath(c, "livenessProbe")).as(component).isEqualTo("/actuator/health/liveness");
                assertThat(map(c, "resources")).as(component).containsKeys("requests", "limits");
                assertThat(list(c, "ports").get(0).get("containerPort")).isEqualTo(PORTS.get(component));
                Map<String, Map<String, Object>> env = env(c);
                assertThat(env).as(component).containsKeys(WIRING.toArray(String[]::new));
                assertThat(env.get("PORT").get("value")).isEqualTo(PORTS.get(component).toString());
                assertThat(env.get("M31_NAMING_URL").get("value")).isEqualTo("http://m31-naming-service:8032");
                assertThat(env.get("M31_STORE_URL").get("value")).isEqualTo("http://m31-store-service:8033");
                assertThat(env.get("M31_CHANNEL_URL").get("value")).isEqualTo("http://m31-channel-service:8034");
                assertThat(env.get("M31_SCHEDULER_URL").get("value")).isEqualTo("http://m31-scheduler-service:8035");
                assertThat(env.get("M31_POSTGRES_URL").get("value")).isEqualTo("jdbc:postgresql://postgresql:5432/m31");
                assertThat(env.get("M31_KAFKA_BOOTSTRAP").get("value")).isEqualTo("kafka:9092");
                assertThat(secretRef(env.get("M31_POSTGRES_PASSWORD"))).isEqualTo("m31-postgres/password");
                // every service and node verifies (and signs) the internal identity header with one key
                assertThat(secretRef(env.get("M31_INTERNAL_KEY"))).as(component).isEqualTo("m31-internal/key");
            }
        }

        // the gateway (only) gets the JWT key, from the chart's generated Secret
        Map<String, Map<String, Object>> gatewayEnv = env(containers(byName(deployments, "m31-gateway")).get(0));
        assertThat(secretRef(gatewayEnv.get("M31_AUTH_SECRET"))).isEqualTo("m31-auth/secret");
        assertThat(env(containers(byName(deployments, "m31-store-service")).get(0))).doesNotContainKey("M31_AUTH_SECRET");
        // a generated key is a pre-install hook (so an upgrade does not re-randomize it): helm-java's
        // template returns the release manifest without hooks, so it is not among the documents
        assertThat(ofKind(docs, "Secret").stream().map(ChartTest::name)).containsExactly("m31-postgres");
        assertThat(CHART.resolve("templates/secrets.yaml")).content()
                .contains("helm.sh/hook: pre-install").contains("helm.sh/resource-policy: keep").contains("randAlphaNum 48");

        // fibril nodes: E<ordinal> names and a stable self URL through the headless Service
        Map<String, Map<String, Object>> fibrilEnv = env(containers(sts).get(0));
        assertThat(map(map(fibrilEnv.get("M31_NODE_INDEX"), "valueFrom"), "fieldRef").get("fieldPath"))
                .isEqualTo("metadata.labels['apps.kubernetes.io/pod-index']");
        assertThat(fibrilEnv.get("M31_NODE").get("value")).isEqualTo("E$(M31_NODE_INDEX)");
        assertThat(fibrilEnv.get("M31_SELF_URL").get("value"))
                .isEqualTo("http://$(POD_NAME).m31-fibril.$(POD_NAMESPACE).svc.cluster.local:8040");
        // $(VAR) references only work to variables defined earlier in the list
        List<String> order = new ArrayList<>(fibrilEnv.keySet());
        assertThat(order.indexOf("POD_NAME")).isLessThan(order.indexOf("M31_SELF_URL"));
        assertThat(order.indexOf("M31_NODE_INDEX")).isLessThan(order.indexOf("M31_NODE"));
        // users' scripts reach neither the cloud's instance metadata nor the cluster's own networks
        assertThat(fibrilEnv.get("M31_FIBRIL_HTTPDENY").get("value").toString().split(","))
                .contains("169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8");
    }

    @Test
    void overriddenValuesAreHonoured() {
        String out = new Helm(CHART).template()
                .withName("prod")
                .withNamespace("m31")
                .set("fibril.replicas", 3)
                .set("fibril.labels.constellation", "gpu")
                .set("postgres.url", "jdbc:postgresql://pg.example.internal:5432/andromeda")
                .set("postgres.existingSecret", "pg-credentials")
                .set("postgres.existingSecretPasswordKey", "pw")
                .set("kafka.bootstrap", "kafka-0.kafka:9092,kafka-1.kafka:9092")
                .set("auth.existingSecret", "m31-jwt")
                .set("auth.jwksUrl", "https://idp.example.internal/jwks.json")
                .set("internal.existingSecret", "mesh-key")
                .set("internal.existingSecretKey", "hmac")
                .set("services.gateway.image.tag", "0.2.0")
                .set("services.gateway.service.type", "LoadBalancer")
                .set("services.store.replicas", 3)
                .call();
        List<Map<String, Object>> docs = render(out);
        docs.forEach(ChartTest::assertKubernetesObject);

        Map<String, Object> sts = single(docs, "StatefulSet");
        assertThat(name(sts)).isEqualTo("prod-m31-fibril");
        assertThat(map(sts, "spec").get("replicas")).isEqualTo(3);
        Map<String, Map<String, Object>> fibrilEnv = env(containers(sts).get(0));
        assertThat(fibrilEnv.get("M31_LABELS_CONSTELLATION").get("value")).isEqualTo("gpu");

        List<Map<String, Object>> deployments = ofKind(docs, "Deployment");
        assertThat(deployments).hasSize(5);
        assertThat(map(byName(deployments, "prod-m31-store-service"), "spec").get("replicas")).isEqualTo(3);
        assertThat(containers(byName(deployments, "prod-m31-gateway")).get(0).get("image"))
                .isEqualTo("ghcr.io/andromeda-m31/gateway:0.2.0");
        assertThat(map(byName(ofKind(docs, "Service"), "prod-m31-gateway"), "spec").get("type")).isEqualTo("LoadBalancer");

        List<Map<String, Object>> workloads = new ArrayList<>(deployments);
        workloads.add(sts);
        for (Map<String, Object> w : workloads) {
            Map<String, Map<String, Object>> env = env(containers(w).get(0));
            assertThat(env.get("M31_POSTGRES_URL").get("value")).isEqualTo("jdbc:postgresql://pg.example.internal:5432/andromeda");
            assertThat(env.get("M31_KAFKA_BOOTSTRAP").get("value")).isEqualTo("kafka-0.kafka:9092,kafka-1.kafka:9092");
            assertThat(secretRef(env.get("M31_POSTGRES_PASSWORD"))).isEqualTo("pg-credentials/pw");
            assertThat(env.get("M31_NAMING_URL").get("value")).isEqualTo("http://prod-m31-naming-service:8032");
            assertThat(secretRef(env.get("M31_INTERNAL_KEY"))).isEqualTo("mesh-key/hmac");
        }
        assertThat(env(containers(byName(deployments, "prod-m31-gateway")).get(0)).get("M31_AUTH_JWKS_URL").get("value"))
                .isEqualTo("https://idp.example.internal/jwks.json");
        assertThat(env(containers(byName(deployments, "prod-m31-store-service")).get(0))).doesNotContainKey("M31_AUTH_JWKS_URL");
        assertThat(secretRef(env(containers(byName(deployments, "prod-m31-gateway")).get(0)).get("M31_AUTH_SECRET")))
                .isEqualTo("m31-jwt/secret");
        // existing secrets are used, not created
        assertThat(ofKind(docs, "Secret")).isEmpty();
    }

    @Test
    void podNameNodeNamingAndGivenKey() {
        String secret = "a-given-key-that-is-longer-than-32-bytes";
        List<Map<String, Object>> docs = render(new Helm(CHART).template().withName("m31")
                .set("fibril.nodeNames", "podName")
                .set("auth.secret", secret)
                .set("internal.key", secret + "-internal")
                .call());
        Map<String, Map<String, Object>> env = env(containers(single(docs, "StatefulSet")).get(0));
        assertThat(env.get("M31_NODE").get("value")).isEqualTo("$(POD_NAME)");
        assertThat(env).doesNotContainKey("M31_NODE_INDEX");
        Map<String, Object> auth = byName(ofKind(docs, "Secret"), "m31-auth");
        assertThat(new String(java.util.Base64.getDecoder().decode(map(auth, "data").get("secret").toString()))).isEqualTo(secret);
        assertThat(map(auth, "metadata")).doesNotContainKey("annotations");
        Map<String, Object> internal = byName(ofKind(docs, "Secret"), "m31-internal");
        assertThat(new String(java.util.Base64.getDecoder().decode(map(internal, "data").get("key").toString()))).isEqualTo(secret + "-internal");
    }

    @Test
    void notesTellHowToReachTheGateway() {
        String out = new Helm(CHART).install().withName("m31").withNamespace("andromeda").dryRun().clientOnly().call().getOutput();
        assertThat(out).contains("kubectl -n andromeda port-forward svc/m31-gateway 8031:8031")
                .contains("get secret m31-auth")
                .contains("curl -s -H \"Authorization: Bearer $M31_TOKEN\" http://localhost:8031/net");
    }

    @Test
    void shortKeyIsRefused() {
        assertThatThrownBy(() -> new Helm(CHART).template().withName("m31").set("auth.secret", "short").call())
                .hasMessageContaining("at least 32 bytes");
        assertThatThrownBy(() -> new Helm(CHART).template().withName("m31").set("internal.key", "short").call())
                .hasMessageContaining("internal.key must be at least 32 bytes");
    }

    // ------------------------------------------------------------------ helpers

    static List<Map<String, Object>> render(String manifests) {
        Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object doc : yaml.loadAll(manifests)) {
            if (doc == null) continue; // empty documents between separators
            assertThat(doc).as("every rendered document is a mapping").isInstanceOf(Map.class);
            @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) doc;
            docs.add(m);
        }
        assertThat(docs).isNotEmpty();
        return docs;
    }

    static void assertKubernetesObject(Map<String, Object> doc) {
        assertThat(doc.get("apiVersion")).as("apiVersion of %s", doc).isInstanceOf(String.class);
        assertThat(doc.get("kind")).as("kind of %s", doc).isInstanceOf(String.class);
        Object metadata = doc.get("metadata");
        assertThat(metadata).as("metadata of %s", doc.get("kind")).isInstanceOf(Map.class);
        Object name = ((Map<?, ?>) metadata).get("name");
        assertThat(name).as("metadata.name of %s", doc.get("kind")).isInstanceOf(String.class);
        assertThat(name.toString()).matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?").hasSizeLessThanOrEqualTo(63);
    }

    static List<Map<String, Object>> ofKind(List<Map<String, Object>> docs, String kind) {
        return docs.stream().filter(d -> kind.equals(d.get("kind"))).toList();
    }

    static Map<String, Object> single(List<Map<String, Object>> docs, String kind) {
        List<Map<String, Object>> found = ofKind(docs, kind);
        assertThat(found).as(kind).hasSize(1);
        return found.get(0);
    }

    static Map<String, Object> byName(List<Map<String, Object>> docs, String name) {
        return docs.stream().filter(d -> name.equals(name(d))).findFirst()
                .orElseThrow(() -> new AssertionError("no object named " + name));
    }

    static String name(Map<String, Object> doc) {
        return Objects.toString(map(doc, "metadata").get("name"));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Map<String, Object> m, String key) {
        Object v = m.get(key);
        assertThat(v).as(key).isInstanceOf(Map.class);
        return (Map<String, Object>) v;
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> list(Map<String, Object> m, String key) {
        Object v = m.get(key);
        assertThat(v).as(key).isInstanceOf(List.class);
        return (List<Map<String, Object>>) v;
    }

    static List<Map<String, Object>> containers(Map<String, Object> workload) {
        return list(map(map(map(workload, "spec"), "template"), "spec"), "containers");
    }

    static String probePath(Map<String, Object> container, String probe) {
        return Objects.toString(map(map(container, probe), "httpGet").get("path"));
    }

    static Map<String, Map<String, Object>> env(Map<String, Object> container) {
        Map<String, Map<String, Object>> env = new java.util.LinkedHashMap<>();
        for (Map<String, Object> e : list(container, "env")) {
            assertThat(env.put(e.get("name").toString(), e)).as("duplicate env %s", e.get("name")).isNull();
        }
        return env;
    }

    static String secretRef(Map<String, Object> envVar) {
        assertThat(envVar).isNotNull();
        Map<String, Object> ref = map(map(envVar, "valueFrom"), "secretKeyRef");
        return ref.get("name") + "/" + ref.get("key");
    }
}
