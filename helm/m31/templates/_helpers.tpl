{{/* Chart name, release-scoped full name, labels. */}}
{{- define "m31.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "m31.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The component name of a mantle key: gateway stays gateway, naming becomes naming-service. */}}
{{- define "m31.component" -}}
{{- if eq . "gateway" -}}gateway{{- else -}}{{ printf "%s-service" . }}{{- end -}}
{{- end -}}

{{- define "m31.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "m31.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: m31
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "m31.selectorLabels" -}}
app.kubernetes.io/name: {{ include "m31.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "m31.authSecretName" -}}
{{- if .Values.auth.existingSecret -}}{{ .Values.auth.existingSecret }}{{- else -}}{{ include "m31.fullname" . }}-auth{{- end -}}
{{- end -}}

{{- define "m31.authSecretKey" -}}
{{- if .Values.auth.existingSecret -}}{{ .Values.auth.existingSecretKey }}{{- else -}}secret{{- end -}}
{{- end -}}

{{- define "m31.internalSecretName" -}}
{{- if .Values.internal.existingSecret -}}{{ .Values.internal.existingSecret }}{{- else -}}{{ include "m31.fullname" . }}-internal{{- end -}}
{{- end -}}

{{- define "m31.internalSecretKey" -}}
{{- if .Values.internal.existingSecret -}}{{ .Values.internal.existingSecretKey }}{{- else -}}key{{- end -}}
{{- end -}}

{{- define "m31.postgresSecretName" -}}
{{- if .Values.postgres.existingSecret -}}{{ .Values.postgres.existingSecret }}{{- else -}}{{ include "m31.fullname" . }}-postgres{{- end -}}
{{- end -}}

{{- define "m31.postgresSecretKey" -}}
{{- if .Values.postgres.existingSecret -}}{{ .Values.postgres.existingSecretPasswordKey }}{{- else -}}password{{- end -}}
{{- end -}}

{{- define "m31.serviceUrl" -}}
{{- $svc := index .ctx.Values.services .key -}}
http://{{ include "m31.fullname" .ctx }}-{{ include "m31.component" .key }}:{{ $svc.port }}
{{- end -}}

{{- define "m31.fibrilHeadless" -}}
{{ include "m31.fullname" . }}-fibril
{{- end -}}

{{/* Env every service gets: where the others are, the database, Kafka, JVM flags. */}}
{{- define "m31.commonEnv" -}}
- name: M31_NAMING_URL
  value: {{ include "m31.serviceUrl" (dict "ctx" . "key" "naming") | quote }}
- name: M31_STORE_URL
  value: {{ include "m31.serviceUrl" (dict "ctx" . "key" "store") | quote }}
- name: M31_CHANNEL_URL
  value: {{ include "m31.serviceUrl" (dict "ctx" . "key" "channel") | quote }}
- name: M31_SCHEDULER_URL
  value: {{ include "m31.serviceUrl" (dict "ctx" . "key" "scheduler") | quote }}
- name: M31_POSTGRES_URL
  value: {{ required "postgres.url is required" .Values.postgres.url | quote }}
- name: M31_POSTGRES_USER
  value: {{ .Values.postgres.user | quote }}
- name: M31_POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "m31.postgresSecretName" . }}
      key: {{ include "m31.postgresSecretKey" . }}
- name: M31_KAFKA_BOOTSTRAP
  value: {{ required "kafka.bootstrap is required" .Values.kafka.bootstrap | quote }}
- name: M31_INTERNAL_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "m31.internalSecretName" . }}
      key: {{ include "m31.internalSecretKey" . }}
- name: JAVA_TOOL_OPTIONS
  value: {{ .Values.javaToolOptions | quote }}
{{- end -}}

{{/* Probes on the container's http port. */}}
{{- define "m31.probes" -}}
startupProbe:
  httpGet:
    path: {{ .Values.probes.liveness.path }}
    port: http
  periodSeconds: {{ .Values.probes.startup.periodSeconds }}
  failureThreshold: {{ .Values.probes.startup.failureThreshold }}
readinessProbe:
  httpGet:
    path: {{ .Values.probes.readiness.path }}
    port: http
  initialDelaySeconds: {{ .Values.probes.readiness.initialDelaySeconds }}
  periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
  failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
livenessProbe:
  httpGet:
    path: {{ .Values.probes.liveness.path }}
    port: http
  initialDelaySeconds: {{ .Values.probes.liveness.initialDelaySeconds }}
  periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
  failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
{{- end -}}

{{/* Pod-level scheduling and security shared by every workload. */}}
{{- define "m31.podCommon" -}}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
