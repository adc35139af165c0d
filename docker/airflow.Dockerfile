# The Airflow image with the project installed, pinned to the same versions as constraints.txt.
FROM apache/airflow:3.3.2-python3.11

ENV WAREHOUSE_PROJECT_DIR=/opt/complaints-warehouse
COPY --chown=airflow:root . /opt/complaints-warehouse
RUN pip install --no-cache-dir -c /opt/complaints-warehouse/constraints.txt -e /opt/complaints-warehouse \
 && chmod -R g+rwX /opt/complaints-warehouse
# The services run as AIRFLOW_UID:0 (the host user, group root), as in the official compose file: dbt's
# target/ and Great Expectations' uncommitted/ are written inside the project, so the group may write.
