{{/* Names: kept under 63 characters, the limit of a Kubernetes name label. */}}
{{- define "rollback-plan.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "rollback-plan.fullname" -}}
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

{{- define "rollback-plan.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "rollback-plan.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "rollback-plan.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rollback-plan.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "rollback-plan.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "rollback-plan.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "rollback-plan.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "rollback-plan.secretName" -}}
{{- default (include "rollback-plan.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/*
"true" when the queue is Redis (web and workers scale out), "" for the embedded SQLite queue.
*/}}
{{- define "rollback-plan.scaledOut" -}}
{{- if and .Values.redis.enabled (or .Values.externalRedis.url .Values.externalRedis.existingSecret) -}}
{{- fail "set redis.enabled or externalRedis, not both" -}}
{{- end -}}
{{- if or .Values.redis.enabled .Values.externalRedis.url .Values.externalRedis.existingSecret -}}
true
{{- end -}}
{{- end -}}

{{/* The environment of every rollback-plan container: settings, secret files, the queue. */}}
{{- define "rollback-plan.env" -}}
{{- range $name, $value := .Values.config }}
{{- if $value }}
- name: ROLLBACK_PLAN_{{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- range .Values.secrets.files }}
- name: ROLLBACK_PLAN_{{ required "secrets.files[].setting is required" .setting }}_FILE
  value: /var/run/secrets/rollback-plan/{{ required "secrets.files[].key is required" .key }}
{{- end }}
- name: ROLLBACK_PLAN_CACHE_DIR
  value: /data/cache
{{- if .Values.redis.enabled }}
- name: ROLLBACK_PLAN_REDIS_URL
  value: {{ printf "redis://%s-redis:6379/0" (include "rollback-plan.fullname" .) | quote }}
{{- else if .Values.externalRedis.existingSecret }}
- name: ROLLBACK_PLAN_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalRedis.existingSecret }}
      key: {{ .Values.externalRedis.existingSecretKey }}
{{- else if .Values.externalRedis.url }}
- name: ROLLBACK_PLAN_REDIS_URL
  value: {{ .Values.externalRedis.url | quote }}
{{- else }}
- name: ROLLBACK_PLAN_QUEUE_PATH
  value: /data/queue.sqlite3
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Mounts shared by web and worker: a writable /tmp, /data, the secret files. */}}
{{- define "rollback-plan.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /data
{{- if .Values.secrets.files }}
- name: secrets
  mountPath: /var/run/secrets/rollback-plan
  readOnly: true
{{- end }}
{{- end -}}

{{- define "rollback-plan.secretVolume" -}}
{{- if .Values.secrets.files }}
- name: secrets
  secret:
    secretName: {{ include "rollback-plan.secretName" . }}
    defaultMode: 0440
    items:
      {{- range .Values.secrets.files }}
      - key: {{ .key }}
        path: {{ .key }}
      {{- end }}
{{- end }}
{{- end -}}
