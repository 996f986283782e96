/*
 * Names for the synthetic city: people's names drawn from the surnames
 * common in the Pearl River Delta and from given-name characters by sex,
 * generated community names (two characters and 社区 or 村), and street
 * names for addresses. Plain tables; nothing here knows about the database.
 */
#include <stdio.h>
#include <string.h>

#include "fieldsim.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Surnames with a rough weight (per mille of Foshan residents). */
static const char *const surnames[] = {
	"陈", "黄", "李", "梁", "张", "何", "林", "刘", "吴", "罗",
	"冯", "王", "杨", "麦", "谭", "邓", "郭", "潘", "叶", "周",
	"朱", "钟", "曾", "郑", "谢", "余", "卢", "区", "关", "苏",
	"蔡", "伍", "赵", "孙", "胡", "邝", "岑", "莫", "欧阳", "司徒",
};
static const unsigned surname_weights[] = {
	120, 75, 70, 60, 50, 45, 40, 40, 35, 30,
	30, 30, 28, 22, 22, 20, 20, 20, 18, 18,
	16, 15, 15, 15, 14, 14, 13, 10, 10, 10,
	9, 9, 9, 8, 8, 6, 6, 6, 5, 4,
};

_Static_assert(sizeof(surnames) / sizeof(surnames[0]) ==
    sizeof(surname_weights) / sizeof(surname_weights[0]),
    "one weight per surname");

static const char *const given_male[] = {
	"伟", "强", "俊", "杰", "志", "明", "华", "国", "文", "辉",
	"健", "永", "锦", "家", "浩", "振", "荣", "东", "海", "建",
	"军", "斌", "勇", "坚", "宇", "子", "嘉", "泽", "耀", "彬",
	"鸿", "铭", "洪", "添", "炳", "根", "培", "棠", "达", "昌",
};
static const char *const given_female[] = {
	"丽", "芳", "敏", "静", "燕", "婷", "玲", "娟", "霞", "英",
	"秀", "美", "慧", "洁", "雪", "琳", "倩", "欣", "嘉", "颖",
	"咏", "淑", "凤", "萍", "红", "艳", "莹", "琪", "诗", "雅",
	"彩", "玉", "桂", "碧", "翠", "晓", "思", "梓", "妍", "月",
};

/* First and second characters of generated community names. */
static const char *const place_first[] = {
	"东", "西", "南", "北", "新", "华", "安", "和", "平", "富",
	"龙", "凤", "金", "石", "沙", "江", "海", "岗", "塘", "莲",
	"荷", "桂", "松", "永", "兴", "福", "宝", "洪", "联", "吉",
};
static const char *const place_second[] = {
	"华", "安", "和", "平", "兴", "盛", "源", "丰", "隆", "湖",
	"江", "涌", "滘", "洲", "岗", "田", "坑", "塘", "头", "基",
	"边", "溪", "苑", "园", "庆", "宁", "昌", "乐", "福", "贤",
};

static const char *const streets[] = {
	"人民路", "建设路", "文华路", "中山路", "解放路", "新风路",
	"东平路", "季华路", "魁奇路", "岭南大道", "佛山大道", "南海大道",
	"桂澜路", "海八路", "环市路", "朝安路", "同济路", "兴业路",
	"江湾路", "湖景路", "新城路", "工业大道", "沿江路", "金沙大道",
};

/* Draws a surname, common ones more often. */
size_t
names_surname(struct rng *r)
{
	return rng_weighted(r, surname_weights, COUNT(surname_weights));
}

/* A full name: surname and one or two given-name characters. */
void
names_person(struct rng *r, size_t surname, bool male, char *out, size_t len)
{
	const char *const *given = male ? given_male : given_female;
	size_t n = male ? COUNT(given_male) : COUNT(given_female);
	const char *a = given[rng_below(r, (uint32_t)n)];

	if (surname >= COUNT(surnames))
		surname = 0;
	if (rng_permille(r, 350)) {
		snprintf(out, len, "%s%s", surnames[surname], a);
		return;
	}
	snprintf(out, len, "%s%s%s", surnames[surname], a,
	    given[rng_below(r, (uint32_t)n)]);
}

/* True if name is one of taken[0..ntaken). */
static bool
s_taken(const char *name, const char *const *taken, size_t ntaken)
{
	for (size_t i = 0; i < ntaken; i++)
		if (strcmp(name, taken[i]) == 0)
			return true;
	return false;
}

/* True if stem k may be used: two different characters, no real name. */
static bool
s_stem_free(size_t k, const char *const *taken, size_t ntaken)
{
	const size_t ns = COUNT(place_second);
	const char *a = place_first[k / ns], *b = place_second[k % ns];
	char name[32];

	if (strcmp(a, b) == 0)
		return false;
	snprintf(name, sizeof(name), "%s%s社区", a, b);
	if (s_taken(name, taken, ntaken))
		return false;
	snprintf(name, sizeof(name), "%s%s村", a, b);
	return !s_taken(name, taken, ntaken);
}

/* A generated community name, unique within its town. */
void
names_community(size_t town, size_t j, bool village,
                const char *const *taken, size_t ntaken, char *out, size_t len)
{
	const size_t ns = COUNT(place_second);
	const size_t space = COUNT(place_first) * ns;
	size_t k = 0, seen = 0;

	/*
	 * The j-th free stem of the sequence (m * 37 + town * 11) mod 900:
	 * 37 is prime to 900, so the sequence visits every stem once and
	 * two communities of a town never share a name.
	 */
	for (size_t m = 0; m < space; m++) {
		k = (m * 37 + town * 11) % space;
		if (s_stem_free(k, taken, ntaken) && seen++ == j)
			break;
	}
	snprintf(out, len, "%s%s%s", place_first[k / ns], place_second[k % ns],
	    village ? "村" : "社区");
}

/* A street name for an address. */
const char *
names_street(size_t index)
{
	return streets[index % COUNT(streets)];
}
