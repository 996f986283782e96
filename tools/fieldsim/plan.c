/*
 * The shape of the synthetic Foshan: the five real districts, their 32 real
 * towns and sub-districts (weighted by a rough population), communities and
 * governance grids scaled to the population asked for (787 and 5,924 at
 * 8 million, at least one of each per town), and how many persons live in
 * each grid. Only the area tree is held in memory; households and persons
 * are generated grid by grid from it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldsim.h"
#include "log.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The seed's figures for the whole city of 8 million. */
#define REF_PERSONS 8000000.0
#define REF_COMMUNITIES 787.0
#define REF_GRIDS 5924.0
#define CODE_SLOTS 999            /* 3 digits per level */
#define MAX_HOUSEHOLDS 99999      /* 5 digits in a household code */

static const struct plan_district districts[] = {
	{ "440604", "禅城区" },
	{ "440605", "南海区" },
	{ "440606", "顺德区" },
	{ "440607", "三水区" },
	{ "440608", "高明区" },
};

/* A real town, its weight (about 10,000 residents) and real communities. */
struct town_def {
	size_t district;
	const char *name;
	unsigned weight;
	const char *const *real;
};

#define REAL(...) (const char *const[]){ __VA_ARGS__, NULL }

static const struct town_def towns[] = {
	{ 0, "祖庙街道", 40, REAL("翠颐社区", "山紫社区", "升平社区", "兆祥社区",
	    "莲花社区", "岭南社区", "公正社区", "朝安社区", "同华社区") },
	{ 0, "石湾镇街道", 30, REAL("东风社区", "跃进社区", "澜石社区", "深村社区") },
	{ 0, "张槎街道", 30, REAL("大富社区", "村头社区", "莲塘社区", "上朗社区") },
	{ 0, "南庄镇", 25, REAL("龙津村", "紫南村", "罗南村", "吉利村", "杏头村",
	    "溶洲村", "堤田村") },
	{ 1, "桂城街道", 85, REAL("桂一社区", "桂二社区", "桂三社区", "叠二社区",
	    "花苑社区", "育才社区", "桂雅社区", "桂园社区", "南桂社区",
	    "大圩社区", "夏南一社区") },
	{ 1, "九江镇", 25, REAL("儒林社区", "沙头社区", "烟南村", "下西村", "南金村") },
	{ 1, "西樵镇", 25, REAL("官山社区", "简村", "七星村", "民乐村", "儒溪村") },
	{ 1, "丹灶镇", 20, REAL("金沙社区", "罗行社区", "仙岗村", "东联村") },
	{ 1, "狮山镇", 75, REAL("小塘社区", "官窑社区", "松岗社区", "罗村社区",
	    "塘头村") },
	{ 1, "大沥镇", 75, REAL("沥桂社区", "雍雅社区", "嘉怡社区", "洞庭社区",
	    "岐城社区", "岐阳社区", "江北社区", "六村社区", "华夏社区",
	    "直街社区", "浔峰社区") },
	{ 1, "里水镇", 40, REAL("里水社区", "文教社区", "和顺社区", "草场社区",
	    "大冲村") },
	{ 2, "大良街道", 45, REAL("新滘社区", "金榜社区", "新松社区", "府又社区",
	    "红岗社区", "苏岗社区", "凤山社区") },
	{ 2, "容桂街道", 50, REAL("容里社区", "容边社区", "桂洲社区", "细滘社区",
	    "华口社区") },
	{ 2, "伦教街道", 20, REAL("伦教社区", "三洲社区", "仕版社区", "荔村社区") },
	{ 2, "勒流街道", 25, REAL("勒流社区", "众涌社区", "黄连社区", "江义社区") },
	{ 2, "陈村镇", 20, REAL("陈村社区", "潭村社区", "赤花社区", "仙涌社区") },
	{ 2, "均安镇", 12, REAL("均安社区", "仓门社区", "星槎社区") },
	{ 2, "杏坛镇", 15, REAL("杏坛社区", "雁园社区", "吕地社区", "罗水社区",
	    "马齐社区", "逢简村", "桑麻村", "高赞村", "上地村") },
	{ 2, "龙江镇", 25, REAL("龙江社区", "左滩社区", "仙塘社区", "东头社区") },
	{ 2, "乐从镇", 25, REAL("乐从社区", "腾冲社区", "大闸社区", "荷村社区") },
	{ 2, "北滘镇", 30, REAL("北滘社区", "碧江社区", "西海社区", "林头社区",
	    "桃村社区") },
	{ 3, "西南街道", 30, REAL("水南社区", "金本社区", "河口社区") },
	{ 3, "云东海街道", 8, NULL },
	{ 3, "白坭镇", 8, REAL("白坭社区", "岗头村") },
	{ 3, "乐平镇", 15, REAL("乐平社区", "范湖村") },
	{ 3, "芦苞镇", 6, REAL("芦苞社区", "独树岗村") },
	{ 3, "大塘镇", 5, REAL("大塘社区") },
	{ 3, "南山镇", 3, REAL("南山社区", "六和村") },
	{ 4, "荟城街道", 25, REAL("沧江社区") },
	{ 4, "明城镇", 7, REAL("明城社区") },
	{ 4, "更合镇", 6, REAL("更合社区", "合水社区") },
	{ 4, "杨和镇", 6, REAL("杨和社区", "对川村") },
};

/*
 * Splits total into n parts proportional to w[], each at least min_each,
 * summing exactly to total (cumulative rounding keeps the order).
 */
static void
s_apportion(const double *w, size_t n, uint64_t total, uint64_t min_each,
            uint32_t *out)
{
	uint64_t rest = total - n * min_each, prev = 0, upto;
	double sum = 0, cum = 0;

	for (size_t i = 0; i < n; i++)
		sum += w[i];
	for (size_t i = 0; i < n; i++) {
		cum += w[i];
		upto = i + 1 == n ? rest : (uint64_t)llround(cum / sum * (double)rest);
		if (upto > rest)
			upto = rest;
		out[i] = (uint32_t)(min_each + (upto - prev));
		prev = upto;
	}
}

/* Writes a child's code: the parent's code and n as three digits. */
static void
s_child_code(char *out, size_t len, const char *parent, size_t n)
{
	size_t plen = strlen(parent);

	if (plen + 4 > len) {
		out[0] = '\0';
		return;
	}
	memcpy(out, parent, plen);
	out[plen] = (char)('0' + n / 100 % 10);
	out[plen + 1] = (char)('0' + n / 10 % 10);
	out[plen + 2] = (char)('0' + n % 10);
	out[plen + 3] = '\0';
}

/* Number of real community names of a town. */
static size_t
s_real_count(const struct town_def *t)
{
	size_t n = 0;

	while (t->real != NULL && t->real[n] != NULL)
		n++;
	return n;
}

/* How many communities and grids a population gets. */
static void
s_scale(uint64_t persons, size_t ntowns, size_t *ncommunities, size_t *ngrids)
{
	double share = (double)persons / REF_PERSONS;
	size_t c = (size_t)llround(share * REF_COMMUNITIES);
	size_t g = (size_t)llround(share * REF_GRIDS);

	if (c < ntowns)
		c = ntowns;
	if (g < c)
		g = c;
	*ncommunities = c;
	*ngrids = g;
}

/* Fills the towns and gives each its share of the communities. */
static bool
s_towns(struct plan *p, const uint32_t *ncomm)
{
	size_t next = 0;

	for (size_t t = 0; t < p->ntowns; t++) {
		struct plan_town *town = &p->towns[t];
		size_t d = towns[t].district, k = 1;

		for (size_t u = 0; u < t; u++)
			k += towns[u].district == d;
		s_child_code(town->code, sizeof(town->code), districts[d].code, k);
		town->name = towns[t].name;
		town->district = d;
		town->first_community = next;
		town->ncommunities = ncomm[t];
		if (ncomm[t] > CODE_SLOTS || ncomm[t] > 800) {
			log_error("town %s would need %u communities: too many",
			    town->name, ncomm[t]);
			return false;
		}
		next += ncomm[t];
	}
	return true;
}

/* Names and codes the communities of town t. */
static void
s_communities(struct plan *p, size_t t, uint64_t seed)
{
	const struct town_def *def = &towns[t];
	const struct plan_town *town = &p->towns[t];
	size_t nreal = s_real_count(def);
	bool street_office = strstr(def->name, "街道") != NULL;
	struct rng r;

	rng_seed(&r, seed, t, 0xc0);
	for (size_t j = 0; j < town->ncommunities; j++) {
		struct plan_community *c = &p->communities[town->first_community + j];
		bool village = rng_permille(&r, street_office ? 200 : 600);

		s_child_code(c->code, sizeof(c->code), town->code, j + 1);
		c->town = t;
		if (j < nreal)
			snprintf(c->name, sizeof(c->name), "%s", def->real[j]);
		else
			names_community(t, j - nreal, village, def->real, nreal,
			    c->name, sizeof(c->name));
	}
}

/* Gives each community its grids (about equal, with some spread). */
static bool
s_grids(struct plan *p, uint64_t seed)
{
	double *w = calloc(p->ncommunities, sizeof(*w));
	uint32_t *n = malloc(p->ncommunities * sizeof(*n));
	struct rng r;
	size_t next = 0;
	bool ok = true;

	if (w == NULL || n == NULL) {
		log_error("out of memory laying out the grids");
		free(w);
		free(n);
		return false;
	}
	rng_seed(&r, seed, 0, 0xc1);
	for (size_t c = 0; c < p->ncommunities; c++)
		w[c] = 0.6 + (double)rng_below(&r, 800) / 1000.0;
	s_apportion(w, p->ncommunities, p->ngrids, 1, n);
	for (size_t c = 0; ok && c < p->ncommunities; c++) {
		struct plan_community *com = &p->communities[c];

		com->first_grid = next;
		com->ngrids = n[c];
		if (n[c] > CODE_SLOTS) {
			log_error("community %s would need %u grids: too many",
			    com->code, n[c]);
			ok = false;
		}
		for (uint32_t g = 0; ok && g < n[c]; g++) {
			struct plan_grid *grid = &p->grids[next++];

			s_child_code(grid->code, sizeof(grid->code), com->code,
			    g + 1);
			grid->community = c;
			grid->number = g + 1;
		}
	}
	free(w);
	free(n);
	return ok;
}

/* Spreads the persons over the grids (1,350 each at full scale, +-30%). */
static bool
s_persons(struct plan *p, uint64_t seed)
{
	double *w = calloc(p->ngrids, sizeof(*w));
	uint32_t *n = malloc(p->ngrids * sizeof(*n));
	struct rng r;
	bool ok = true;

	if (w == NULL || n == NULL) {
		log_error("out of memory spreading the persons");
		free(w);
		free(n);
		return false;
	}
	rng_seed(&r, seed, 0, 0xc2);
	for (size_t g = 0; g < p->ngrids; g++)
		w[g] = 0.7 + (double)rng_below(&r, 600) / 1000.0;
	s_apportion(w, p->ngrids, p->persons, 1, n);
	p->max_grid_persons = 0;
	for (size_t g = 0; g < p->ngrids; g++) {
		p->grids[g].persons = n[g];
		if (n[g] > p->max_grid_persons)
			p->max_grid_persons = n[g];
	}
	if (ok && p->max_grid_persons > MAX_HOUSEHOLDS) {
		log_error("a grid would hold %u persons: too many",
		    p->max_grid_persons);
		ok = false;
	}
	free(w);
	free(n);
	return ok;
}

/* Lays out the areas and spreads the persons over the grids. */
struct plan *
plan_new(uint64_t persons, uint64_t seed)
{
	struct plan *p = calloc(1, sizeof(*p));
	uint32_t ncomm[COUNT(towns)];
	double w[COUNT(towns)];

	if (p == NULL)
		return NULL;
	p->districts = districts;
	p->ndistricts = COUNT(districts);
	p->ntowns = COUNT(towns);
	p->persons = persons;
	s_scale(persons, p->ntowns, &p->ncommunities, &p->ngrids);
	p->towns = calloc(p->ntowns, sizeof(*p->towns));
	p->communities = calloc(p->ncommunities, sizeof(*p->communities));
	p->grids = calloc(p->ngrids, sizeof(*p->grids));
	if (p->towns == NULL || p->communities == NULL || p->grids == NULL) {
		log_error("out of memory laying out the city");
		plan_destroy(&p);
		return NULL;
	}
	for (size_t t = 0; t < p->ntowns; t++)
		w[t] = towns[t].weight;
	s_apportion(w, p->ntowns, p->ncommunities, 1, ncomm);
	if (!s_towns(p, ncomm)) {
		plan_destroy(&p);
		return NULL;
	}
	for (size_t t = 0; t < p->ntowns; t++)
		s_communities(p, t, seed);
	if (!s_grids(p, seed) || !s_persons(p, seed))
		plan_destroy(&p);
	return p;
}

/* Frees the plan. */
void
plan_destroy(struct plan **plan_p)
{
	struct plan *p = *plan_p;

	if (p == NULL)
		return;
	free(p->towns);
	free(p->communities);
	free(p->grids);
	free(p);
	*plan_p = NULL;
}
